"""Calling an LLM server (vLLM's OpenAI-compatible API) from a service that must not wait on it.

`client.VllmClient`: one structured-output request under a deadline, one retry of a
transient failure. `breaker.CircuitBreaker`: stop calling a server that keeps failing.
`config.LlmSettings`: VLLM_URL and the rest. The NLU (commands) and the support
service (answers) both use these; what they ask the model stays in each service.
"""
