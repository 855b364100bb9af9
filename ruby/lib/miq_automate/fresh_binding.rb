# frozen_string_literal: true

# Defined at the top level on purpose: a binding made here has `main` as self and Object as
# its constant scope, like a method file run by the engine, and fresh local variables each call.
MiqAutomate::FRESH_BINDING = -> { binding }
