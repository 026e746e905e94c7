"""The lead-capture form beyond the site: the GitHub issue template made from a project's form
(``template``), and the issue it opens read back into a new record's values (``issue``).

The form page itself is a view (``views.forms``); which fields are on a form, and how each is
filled in, is one rule in ``fields.forms``. Nothing here touches the disk:
``crmgen.build.interchange`` reads the issue, and writes the record with the same code as
``crmgen new``.
"""
