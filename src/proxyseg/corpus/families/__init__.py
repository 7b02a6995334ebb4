"""Providers of real recordings from Debian data packages, one module per origin.

A provider takes ``root`` (the folder :func:`proxyseg.corpus.debian.fetch_packages` unpacked the
packages into; it mirrors ``/``) and ``cache_dir`` (where recordings that the decoders cannot read
as shipped are converted, once, to 16-bit WAV at their own sample rate) and returns the
:class:`~proxyseg.corpus.sources.Source` objects of its family, sorted by name. A source's group is
its speaker, track or recording, so that splits never share one. :mod:`proxyseg.corpus.catalogue`
lists the families with their packages, licences and minutes.
"""
