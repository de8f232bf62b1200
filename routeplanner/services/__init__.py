"""Use cases: every one lives here once, whoever calls it (the web app, the command line).

One module per family: :mod:`~.planning` and :mod:`~.repair` (plans, visit outcomes),
:mod:`~.territories`, :mod:`~.assignment` (rules, dry runs), :mod:`~.imports` (accounts and
reps), :mod:`~.calendar`, :mod:`~.users`, :mod:`~.learning` (planned against actual times),
:mod:`~.system` (readiness), and performance monitoring in :mod:`~.sales`, :mod:`~.targets`
and :mod:`~.performance` (figures attributed through :mod:`~.attribution`). A use case takes
the store (or a unit of work), a travel provider where it needs roads, and a parameters object
whose construction is the validation (:mod:`~.params`); it raises the project's own errors,
which each entry point maps to its own answer in one place. Nothing here imports the web
framework or the command line.
"""
