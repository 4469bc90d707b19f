"""HTTP controllers, one per area; thin: parse, call a use case, translate the result."""
