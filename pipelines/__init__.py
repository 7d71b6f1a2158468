"""Item pipelines: raw capture → clean, normalised, hashed text → archive.

Each stage is a pure function ``run(doc) -> doc`` in its own module plus a thin Scrapy
pipeline class around it, so ``nianbao reprocess`` can re-derive text from stored raw
captures with exactly the code the crawl used (see :mod:`pipelines.derive`).
"""
