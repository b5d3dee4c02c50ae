// The wall's operations, typed against schema.graphql and sent by their trusted document id.
import { graphql } from '../gql';

export const WallCameras = graphql(`
  query WallCameras {
    cameras { code name kind lat lon health lastAlertAt latestSnapshotUrl }
  }
`);

export const WallAlerts = graphql(`
  query WallAlerts($first: Int!) {
    cctvAlerts(first: $first) { id kind value threshold cameraCode createdAt snapshotUrl }
  }
`);

export const WallAlertRaised = graphql(`
  subscription WallAlertRaised {
    cctvAlertRaised { id kind value threshold cameraCode createdAt snapshotUrl }
  }
`);

export const WallReportEvents = graphql(`
  subscription WallReportEvents($categories: [String!]) {
    reportEvents(categories: $categories) { kind report { id lat lon category status createdAt } }
  }
`);

export const WallStatsQuery = graphql(`
  query WallStats($filter: WallFilterInput) {
    wallStats(filter: $filter) {
      open overdue filedToday at
      byKota { key name open overdue filedToday }
      byUnit { key name open overdue filedToday }
    }
  }
`);

export const WallFloodgates = graphql(`
  query WallFloodgates($hours: Int!) {
    floodgateLevels(hours: $hours) {
      camera { code name }
      siaga3Cm siaga2Cm siaga1Cm levelCm siaga
      series { at levelCm }
    }
  }
`);

export const WallChoices = graphql(`
  query WallChoices {
    units(kind: AGENCY) { id code name }
    categories { code nameId nameEn }
  }
`);
