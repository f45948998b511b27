"""Fix for ARC601: requests and limits for the runner container.

(Being written.)
"""
