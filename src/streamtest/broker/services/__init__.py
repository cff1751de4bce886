"""Topic, config and admin logic that API handlers share (handlers never call each
other; they call services)."""
