"""Imported first by the forkserver of deskterm's parsing processes (engine.pool.ParsingPool).

The forkserver is started by exec, which makes a process dumpable again; it forks every
parsing process, which hold customers' mail. Importing this makes it undumpable like the
deskterm process that started it (process.disable_core_dumps).
"""

from deskterm.process import disable_core_dumps

disable_core_dumps()
