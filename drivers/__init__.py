"""Device drivers: bytes in, readings and frames out (see ``drivers.base`` for the interface,
``drivers.registry`` for the models, ``drivers.scene`` for the synthetic thermal scene)."""
