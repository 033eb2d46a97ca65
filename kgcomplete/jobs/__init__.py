"""Jobs: the loop as a run and on a schedule.

``enrich`` (one run: pull, train, propose, write back, recorded as a ``KGCRun``) and
``scheduler`` (``[[jobs]]`` on APScheduler cron triggers, under the job lock).
"""
