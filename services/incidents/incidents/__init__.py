"""Incidents service: accident and occupational-disease intake, key-industry statistics."""
