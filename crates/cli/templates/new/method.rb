class {{RUBY_CLASS}}
  def initialize(handle = $evm)
    @handle = handle
  end

  def main
    greeting = "Hello, #{@handle.root['user_name'] || 'world'}"
    @handle.root['greeting'] = greeting
    @handle.log(:info, greeting)
  end
end
