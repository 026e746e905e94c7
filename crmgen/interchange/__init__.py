"""Getting data in and out: CSV import (``plan``), export (``export``), ``crmgen new``.

One module per step: ``csvfile`` reads and writes CSV, ``cells`` turns a cell into a stored
value and back, ``mapping`` reads the mapping file and matches columns to fields, ``slugs``
makes record ids, ``plan`` decides what each row becomes, ``outcome`` reports it, ``export``
writes a project out and ``newrecord`` fills a new record from its schema. Nothing here touches
the disk: ``crmgen.build.interchange`` reads, validates and writes around these.
"""
