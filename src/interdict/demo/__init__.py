"""The demo scenario: a seeded multi-agency set-up that each domain adds its own data to."""
