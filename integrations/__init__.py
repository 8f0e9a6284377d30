"""Framework integrations (imported as ``latentseek_agents.integrations``).

The LangChain and DSPy adapters live in sub-modules that import their framework lazily, so this
package imports nothing heavy.
"""

__all__: list[str] = []
