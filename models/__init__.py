"""The archive: SQLAlchemy 2.x models and the functions that read and write them."""

from nianbao.models.tables import Base, Blob, Capture, CrawlRun, Report, ReportUrl, Source, Version

__all__ = ["Base", "Blob", "Capture", "CrawlRun", "Report", "ReportUrl", "Source", "Version"]
