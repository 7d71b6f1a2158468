"""The Scrapy project: settings, the portal spider, middlewares and items."""
