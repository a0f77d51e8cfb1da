"""Agencies, users, roles, API tokens, browser sessions and agency scoping."""
