defmodule Otpc.PgTest do
  # pg from Elixir with otpc-node in the cluster: :pg.get_members sees C
  # members (they are driven through otpc-node's ctl process, see
  # cnode/tools/pg_ctl.c), a broadcast from Elixir reaches them, a C
  # broadcast reaches an Elixir member, and a C member that dies leaves.
  use ExUnit.Case, async: false
  alias Otpc.TestSupport.CNode

  @timeout 20_000

  setup do
    # This node takes part in the default scope, as a node started with
    # kernel's start_pg would.
    if Process.whereis(:pg) == nil, do: {:ok, _} = :pg.start(:pg)
    {port, node} = CNode.start()
    {:os_pid, os_pid} = Port.info(port, :os_pid)
    on_exit(fn -> System.cmd("kill", ["-KILL", Integer.to_string(os_pid)], stderr_to_stdout: true) end)
    true = Node.connect(node)
    %{node: node}
  end

  defp ctl(node, req) do
    send({:ctl, node}, List.to_tuple([self() | Tuple.to_list(req)]))

    receive do
      {:ctl, reply} -> reply
    after
      @timeout -> flunk("no reply from ctl on #{node} to #{inspect(req)}")
    end
  end

  # Waits until pred holds of :pg.get_members(group); each round reads the
  # local table, and the deadline bounds the wait.
  defp await_members(group, pred, deadline \\ nil) do
    deadline = deadline || System.monotonic_time(:millisecond) + @timeout
    members = Enum.sort(:pg.get_members(group))

    cond do
      pred.(members) -> members
      System.monotonic_time(:millisecond) > deadline -> flunk("pg group #{inspect(group)} never settled: #{inspect(members)}")
      true ->
        # Let the scope process handle what the C node sent.
        :sys.get_state(:pg)
        await_members(group, pred, deadline)
    end
  end

  test "get_members sees C members; a broadcast from Elixir reaches them", %{node: node} do
    group = {:ex_group, System.unique_integer()}
    {:pg_member, c1} = ctl(node, {:pg_member, :pg, group})
    {:pg_member, c2} = ctl(node, {:pg_member, :pg, group})
    expected = Enum.sort([c1, c2])
    assert ^expected = await_members(group, &(&1 == expected))
    assert Enum.all?(:pg.get_members(group), &(node(&1) == node))
    assert group in :pg.which_groups()

    for pid <- :pg.get_members(group), do: send(pid, {:hello, :from_elixir})

    for pid <- [c1, c2] do
      assert_receive {:pg_member, ^pid, {:hello, :from_elixir}}, @timeout
    end
  end

  test "a C broadcast reaches an Elixir member; the C side sees it", %{node: node} do
    group = {:ex_member, System.unique_integer()}
    :ok = :pg.join(group, self())
    # The C scope learns of the join through pg's own messages.
    wait_c = fn wait_c, deadline ->
      case ctl(node, {:pg_members, :pg, group}) do
        {:pg_members, [pid], []} when pid == self() ->
          :ok

        other ->
          if System.monotonic_time(:millisecond) > deadline,
            do: flunk("C never saw the Elixir member: #{inspect(other)}"),
            else: wait_c.(wait_c, deadline)
      end
    end

    :ok = wait_c.(wait_c, System.monotonic_time(:millisecond) + @timeout)
    assert {:pg_send, 1} = ctl(node, {:pg_send, :pg, group, {:hello, :from_c}})
    assert_receive {:hello, :from_c}, @timeout
    :ok = :pg.leave(group, self())
  end

  test "a C member that dies leaves the group", %{node: node} do
    group = {:ex_death, System.unique_integer()}
    {:pg_member, c1} = ctl(node, {:pg_member, :pg, group})
    {:pg_member, c2} = ctl(node, {:pg_member, :pg, group})
    both = Enum.sort([c1, c2])
    assert ^both = await_members(group, &(&1 == both))
    ref = Process.monitor(c1)
    Process.exit(c1, :kill)
    assert_receive {:DOWN, ^ref, :process, ^c1, :killed}, @timeout
    assert [^c2] = await_members(group, &(&1 == [c2]))
  end
end
