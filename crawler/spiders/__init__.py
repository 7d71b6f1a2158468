"""Spiders: one generic portal spider, configured per source."""
