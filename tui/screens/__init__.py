"""Screens of the arc-top UI."""
