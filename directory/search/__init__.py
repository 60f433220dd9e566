"""Search: documents derived from listings, two backends, the crisis rule."""
