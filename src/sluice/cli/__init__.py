"""The ``sluice`` command line. Talks to the manager through ``sluice.client`` only."""
