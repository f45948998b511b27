"""Fixes for ARC301, ARC302, ARC303: an egress NetworkPolicy for the scale set's runner and listener pods.

(Being written.)
"""
