"""Fetch Debian packages that carry real audio, without installing them.

The build machines reach Debian's archive but nothing else, so the default corpus sources are
Debian data packages: ``apt-get download`` fetches the ``.deb`` and ``dpkg -x`` unpacks it into a
cache folder. Neither needs root, and nothing is installed system-wide.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

from proxyseg.errors import CorpusError

logger = logging.getLogger(__name__)

def default_cache_dir() -> Path:
    """Folder for downloaded packages and prepared sources.

    ``$PROXYSEG_CACHE`` if set, else ``$XDG_CACHE_HOME/proxyseg``, else ``~/.cache/proxyseg``.
    """
    if os.environ.get("PROXYSEG_CACHE"):
        return Path(os.environ["PROXYSEG_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "proxyseg"


def fetch_packages(names: tuple[str, ...], cache_dir: Path) -> Path:
    """Download and unpack Debian packages into ``cache_dir``; return the unpacked root.

    A package already unpacked by an earlier call is not fetched again.

    Parameters
    ----------
    names
        Debian package names.
    cache_dir
        Cache folder; packages go to ``cache_dir/debian/``.

    Returns
    -------
    Path
        The folder the packages were unpacked into (it mirrors ``/``: ``usr/share/...``).
    """
    debian_dir = Path(cache_dir) / "debian"
    root = debian_dir / "root"
    downloads = debian_dir / "downloads"
    missing = [name for name in names if not (debian_dir / f"{name}.unpacked").exists()]
    if not missing:
        return root
    for tool in ("apt-get", "dpkg"):
        if shutil.which(tool) is None:
            raise CorpusError(
                f"'{tool}' not found: the default sources come from Debian packages; "
                "on another system give your own sources with --sources DIR"
            )
    downloads.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    logger.info("downloading Debian packages: %s", " ".join(missing))
    _run(["apt-get", "download", *missing], cwd=downloads)
    for name in missing:
        debs = sorted(downloads.glob(f"{name}_*.deb"))
        if not debs:
            raise CorpusError(f"apt-get download did not produce a .deb for {name}")
        _run(["dpkg", "-x", str(debs[-1]), str(root)], cwd=downloads)
        (debian_dir / f"{name}.unpacked").touch()
    return root


def _run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit status {result.returncode}"
        hint = " (run 'apt-get update' first?)" if "Unable to locate" in result.stderr else ""
        raise CorpusError(f"'{' '.join(command[:2])}' failed: {detail}{hint}")
