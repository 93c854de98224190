"""corral: collect, fingerprint, compress and publish static files."""
