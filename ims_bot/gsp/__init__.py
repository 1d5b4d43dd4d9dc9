"""Talking to the GST portal through a GST Suvidha Provider (GSP).

`provider.Provider` is the small interface a connector implements (`sandbox.Sandbox` is the
first); `service.GspService` owns the transactions (sessions, sync, upload, regeneration);
`crypto.Vault` encrypts every token before it is stored.
"""
