"""lvs-top: a live terminal dashboard for Linux Virtual Server (IPVS) load balancers."""

__version__ = "0.1.0"
