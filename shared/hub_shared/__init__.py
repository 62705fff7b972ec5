"""Common package of the work-injury prevention data hub."""
