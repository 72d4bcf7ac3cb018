"""Harambee shared kernel: what every bounded context needs, shipped as the SharedLayer."""
