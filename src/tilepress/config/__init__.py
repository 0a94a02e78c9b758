"""The configuration: a YAML file in, checked settings for every map out.

- :mod:`~tilepress.config.document` reads the YAML with the line of every key;
- :mod:`~tilepress.config.checks` checks it against ``workflow/schemas/config.schema.yaml``
  (filling in the defaults) and checks the meaning of the values;
- :mod:`~tilepress.config.resolve` turns it into the dataclasses of
  :mod:`~tilepress.config.model` (:class:`~tilepress.config.model.ProjectConfig`, one
  :class:`~tilepress.config.model.MapSpec` per map), which every later stage takes;
- :mod:`~tilepress.config.paths` says where the workflow, the schema and the embedded data are.

The countries a map highlights are looked up in its source by :mod:`tilepress.project`, which
joins these checks with :mod:`tilepress.sources`; nothing here reads a boundary source.
"""
