"""Allocate VAWG funding pots across London boroughs and services, and explain why."""

__version__ = "0.1.0"
