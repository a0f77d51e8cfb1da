"""Reference data files (schedules, lists, codes): loaded, validated, versioned, checksummed."""
