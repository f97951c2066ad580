"""Shopping-cart service."""
