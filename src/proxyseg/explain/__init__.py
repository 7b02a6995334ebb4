"""Explanations of a proxy's decisions: relevance of its NMF components, class prototypes and
frequency bands, and listenable audio made from the components a class rests on."""
