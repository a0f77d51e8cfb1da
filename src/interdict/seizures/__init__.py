"""Seizures and forensic profiling: seizure records, marks and logos, chemical profiles,
candidate links between seizures."""
