"""Pages for people: the mentor app (server-rendered, English and Spanish)."""
