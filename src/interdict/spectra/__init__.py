"""Substance identification from Raman, IR and GC-MS spectra.

Parsers (``formats``) turn vendor and exchange files into :class:`Spectrum` objects;
``processing`` prepares them for comparison; ``search`` ranks library entries; ``mixture``
unmixes a spectrum into library components. ``service`` is the library API the CLI, HTTP API
and web pages call, and the only entry point other domains may use.
"""
