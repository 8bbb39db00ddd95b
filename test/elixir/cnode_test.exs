defmodule Otpc.CNodeTest do
  # otpc-node (the reference C node) seen from a real Elixir node: ping,
  # send/receive with its `echo` process, GenServer.call on it with every
  # kind of term Elixir makes (the big binaries cross as fragments), monitors
  # and links on a C process, hidden versus visible. Each test has its own
  # C node: some kill its echo process.
  use ExUnit.Case, async: false
  alias Otpc.TestSupport.CNode

  @timeout 30_000

  defmodule Point do
    defstruct x: 0, y: 0, label: nil
  end

  setup context do
    args = if context[:hidden], do: ["--hidden"], else: []
    {port, node} = CNode.start(args)
    {:os_pid, os_pid} = Port.info(port, :os_pid)
    # Whatever a failed test left running goes down with it.
    on_exit(fn -> System.cmd("kill", ["-KILL", Integer.to_string(os_pid)], stderr_to_stdout: true) end)
    %{port: port, node: node}
  end

  defp echo_pid(node) do
    send({:echo, node}, {self(), :hello})

    receive do
      {:echo, pid, :hello} when node(pid) == node -> pid
    after
      @timeout -> flunk("no answer from {:echo, #{node}}")
    end
  end

  defp terms do
    [
      :atom,
      :"ünïcødé atom",
      42,
      -7,
      12_345_678_901_234_567_890_123_456_789_012_345_678_901_234_567_890,
      -Integer.pow(2, 300),
      3.141592653589793,
      -0.0,
      1.0e300,
      "héllo wörld",
      ~c"charlist",
      [a: 1, b: [c: "x"]],
      %{name: "otpc", nested: %{1 => 1.5, "k" => [:v]}},
      Map.new(1..100, &{&1, &1 * &1}),
      %Point{x: 1, y: -2, label: "p"},
      URI.parse("https://example.com:8080/path?q=1"),
      MapSet.new([1, 2, 3]),
      1..10//2,
      {:ok, {:nested, {}}},
      [],
      [1 | 2],
      <<1, 2, 3::4>>,
      <<>>,
      make_ref(),
      self(),
      spawn(fn -> :ok end),
      &Enum.map/2,
      :binary.copy(<<7>>, 65_537),
      :binary.copy("0123456789", 1_000_000)
    ]
  end

  test "Node.ping answers :pong and the node is in Node.list()", %{node: node, port: port} do
    assert Node.ping(node) == :pong
    assert node in Node.list()
    refute node in Node.list(:hidden)
    assert CNode.stop(port) == 0
  end

  @tag :hidden
  test "a hidden C node is in Node.list(:hidden), not Node.list()", %{node: node} do
    assert Node.ping(node) == :pong
    assert node in Node.list(:hidden)
    refute node in Node.list()
  end

  test "send/receive with echo carries every term intact", %{node: node} do
    for term <- terms() do
      send({:echo, node}, {self(), term})

      receive do
        {:echo, pid, got} when node(pid) == node ->
          assert got === term, "echo of #{inspect(term, limit: 5)}"
      after
        @timeout -> flunk("no echo of #{inspect(term, limit: 5)}")
      end
    end
  end

  test "GenServer.call({:echo, node}, term) returns every term intact", %{node: node} do
    for term <- terms() do
      assert GenServer.call({:echo, node}, term, @timeout) === term,
             "call with #{inspect(term, limit: 5)}"
    end
  end

  test "Process.monitor on a C process gets :DOWN with the exit reason", %{node: node} do
    pid = echo_pid(node)
    ref = Process.monitor(pid)
    Process.exit(pid, :bye)
    assert_receive {:DOWN, ^ref, :process, ^pid, :bye}, @timeout
    # A dead C pid: :noproc, as for any pid.
    ref2 = Process.monitor(pid)
    assert_receive {:DOWN, ^ref2, :process, ^pid, :noproc}, @timeout
  end

  test "Process.link to a C process gets :EXIT when it is killed", %{node: node} do
    pid = echo_pid(node)
    Process.flag(:trap_exit, true)
    true = Process.link(pid)
    # The link is in place once the echo process answers after it (signals
    # between a pair of processes stay in order).
    ^pid = echo_pid(node)
    Process.exit(pid, :kill)
    assert_receive {:EXIT, ^pid, :killed}, @timeout
  end

  test "a C process linked to an Elixir process that exits gets its :EXIT", %{node: node} do
    me = self()
    p = spawn(fn -> receive do: (:stop -> exit(:shutdown_now)) end)
    send({:ctl, node}, {me, :link, p})
    assert_receive {:ctl, :linked}, @timeout
    send({:ctl, node}, {me, :monitor, p})
    assert_receive {:ctl, ref} when is_reference(ref), @timeout
    send(p, :stop)
    assert_receive {:ctl, {:EXIT, ^p, :shutdown_now}}, @timeout
    assert_receive {:ctl, {:DOWN, ^ref, :process, ^p, :shutdown_now}}, @timeout
  end
end
