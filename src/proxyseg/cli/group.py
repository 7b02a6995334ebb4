"""The ``proxyseg`` command group: library errors as one-line failures, logging and warnings on stderr."""

from __future__ import annotations

import logging
import sys
import warnings

import click

from proxyseg import __version__
from proxyseg.errors import ProxysegError
from proxyseg.text import printable

logger = logging.getLogger("proxyseg")


class _Failure(click.ClickException):
    """A user error, shown as ``proxyseg: error: <message>``."""

    def format_message(self) -> str:
        return self.message

    def show(self, file=None) -> None:
        click.echo(f"proxyseg: error: {printable(self.format_message())}", err=True)


class _Group(click.Group):
    """Turns library errors raised by any sub-command into one-line failures."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ProxysegError as error:
            raise _Failure(str(error)) from None
        except OSError as error:
            raise _Failure(f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")) from None


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"proxyseg: warning: {printable(str(message))}", err=True)


class _OneLineFormatter(logging.Formatter):
    """Log records as one line each, whatever the names inside them."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="proxyseg")
@click.option("-v", "--verbose", count=True, help="More progress messages (-vv for debugging).")
def cli(verbose: int) -> None:
    """Segment audio into speech, music, noise and overlapped speech, and explain why."""
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter("proxyseg: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    warnings.showwarning = _show_warning
