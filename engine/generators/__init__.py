"""GAN generators behind one interface: find models (catalog, no torch), load them, run them.

Import what you need from the modules: ``engine.generators.catalog`` finds models and reads
their cards without importing torch; ``engine.generators.loading`` builds networks.
"""
