"""Fitting: the fitter contract, the lookup of registered fitters, and storing fits.

- :mod:`obslaws.fitting.contract`: :class:`Fitter` and :class:`Requirements`, what a plugin implements;
- :mod:`obslaws.fitting.lookup`: :func:`get_fitters`, every fitter class plugins registered;
- :mod:`obslaws.fitting.store`: :func:`fit_and_store` and :func:`predict_and_store`, fits written back.

Kept free of imports so that importing one submodule does not load the others.
"""
