"""The search verbs over schedules: generate (schedules as pure functions of a seed), explore
(generated schedules on a warm stack), shrink (a smaller schedule that fails the same way) and
bisect (the first LiteLLM release where a verdict changes)."""
