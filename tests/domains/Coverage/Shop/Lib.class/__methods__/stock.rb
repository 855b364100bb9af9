# Embedded by reserve: the stock level.
module Stock
  LEVEL = 10

  def self.available?(count)
    count <= LEVEL
  end

  def self.shortage(count)
    "only #{LEVEL} in stock, #{count} wanted"
  end
end
