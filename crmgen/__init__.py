"""crmgen: a sales CRM whose database is a git repository of Markdown records."""

__version__ = "0.1.0"
