"""Building the kits: solution markers (markers.py), the zips in dist/ (kits.py), reference artifacts
(reference_artifacts.py: the trained checkpoint and executed notebooks a perfect student hands in)."""
