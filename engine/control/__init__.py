"""Control of tracefs: the Tracefs handle, transactions, the journal, snapshot and restore, the session."""
