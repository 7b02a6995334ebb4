"""Labelled four-class corpora: offline sources, mixing with exact labels, corpus manifests."""

from proxyseg.corpus.builder import CorpusBuilder, build_corpus
from proxyseg.corpus.manifest import Corpus

__all__ = ["Corpus", "CorpusBuilder", "build_corpus"]
