"""NLU service: transcripts in (sv:transcripts), typed commands out (gRPC), replies to the session."""
