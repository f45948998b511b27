"""Fix for ARC503: the Role and RoleBinding kube mode needs for the runner ServiceAccount.

(Being written.)
"""
