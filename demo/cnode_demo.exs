# The Elixir part of the otpc demo (run by demo/cnode_demo.escript): a real
# Elixir node pings the C node, sends to and calls its C process `echo`, and
# prints one "[elixir] ..." line per check. Exits non-zero if one fails.
[cnode_name] = System.argv()
cnode = String.to_atom(cnode_name)

check = fn what, got, want ->
  if got == want do
    IO.puts("[elixir] #{what} -> #{inspect(got)}")
    :ok
  else
    IO.puts("[elixir] #{what} -> #{inspect(got)} FAILED (expected #{inspect(want)})")
    :failed
  end
end

term = %{struct: URI.parse("https://example.org/otpc"), set: MapSet.new([1, 2]), tuple: {:ok, "é"}}

results = [
  check.("Node.ping(cnode)", Node.ping(cnode), :pong),
  (
    send({:echo, cnode}, {self(), term})

    got =
      receive do
        {:echo, pid, t} when is_pid(pid) -> t
      after
        15_000 -> :timeout
      end

    check.("send({:echo, cnode}, {self(), %{struct: %URI{}, ...}})", got, term)
  ),
  check.("GenServer.call({:echo, cnode}, {:range, 1..10})", GenServer.call({:echo, cnode}, {:range, 1..10}), {:range, 1..10}),
  check.("cnode in Node.list()", cnode in Node.list(), true)
]

if Enum.all?(results, &(&1 == :ok)), do: System.halt(0), else: System.halt(1)
